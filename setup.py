from setuptools import find_packages, setup


def _reqs(name):
    with open(f'requirements/{name}.txt') as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


setup(
    name='mmiivcl',
    version='0.1.0',
    description='Self-supervised video representation learning (IIVCL, VCLR) for mmaction2',
    packages=find_packages(include=['mmiivcl', 'mmiivcl.*']),
    python_requires='>=3.9',
    install_requires=['torch'] + _reqs('runtime'),
    extras_require={'tests': _reqs('tests'), 'pyav': _reqs('pyav')},
)
