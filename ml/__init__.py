"""Tandem's matching library: plain PyTorch, no Django. It takes arrays and dataclasses."""
