"""``python -m kubeward``."""

from kubeward.cli import main

main()
