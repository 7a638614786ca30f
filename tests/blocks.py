"""A block of a run's inputs read as the pipeline reads it, for tests of the core's arguments."""

from __future__ import annotations

from rasterio.windows import Window

from gsocseq.chain import Chain, Modelled
from gsocseq.config import Config
from gsocseq.inputs import Block, Inputs


def read_block(config: Config, window: Window) -> tuple[Chain, Block]:
    """The run's chain and the block of ``window``, its core arguments in ``block.arrays``
    (the warm-up series as read: WindowBands)."""
    with Inputs(config, Modelled(config)) as inputs:
        block = inputs.read_block(window)
        chain = Chain(config, inputs.years)
    block.arrays = chain.arguments(block.values, block.classes, block.pixel_id)
    return chain, block
