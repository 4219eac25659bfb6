"""The package's type annotations, as type checkers read them."""

import numpy as np

import tessera


def test_mosaic_return_type_follows_return_matches():
    """typing.overload on mosaic: an array by default, a MosaicResult for return_matches=True."""
    import typing

    overloads = typing.get_overloads(tessera.Library.mosaic)
    returns = [typing.get_type_hints(f).get("return") for f in overloads]
    assert returns[0] is np.ndarray and tessera.MosaicResult in returns[1:3]
    assert [typing.get_type_hints(f)["return_matches"] for f in overloads[:3]] == [
        typing.Literal[False], typing.Literal[True], typing.Literal[True]]
