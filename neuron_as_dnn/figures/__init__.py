"""Figures of the paper, one module per figure family; one function per panel, composed into full figures."""
