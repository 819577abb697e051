"""Demo data: synthetic labelled videos that differ only in motion pattern."""
from .synthetic import (GENERATOR_VERSION, MOTION_CLASSES,
                        generate_demo_dataset, is_generated, render_video,
                        stratified_query_split, write_video)

__all__ = [
    'GENERATOR_VERSION', 'MOTION_CLASSES', 'generate_demo_dataset',
    'is_generated', 'render_video', 'stratified_query_split', 'write_video'
]
