"""Stage 5, figures: the paper's figures, one module per figure family; one function per panel, composed into
full figures.

Imports every stage below (``simulation``, ``data``, ``learning``, ``evaluation``) and the shared services; draws
what they computed and computes no result of its own.

``style`` holds the one palette and font sizes, ``panels`` the panels the figures share. No module here selects
a matplotlib backend: scripts that only write files select Agg themselves, so interactive use keeps its own.
"""
import logging

# matplotlib's PDF backend subsets fonts through fontTools, which logs every table it prunes at INFO
# (hundreds of lines per figure) under a script's INFO logging.
logging.getLogger("fontTools").setLevel(logging.WARNING)
