"""The ``progress=`` argument of long calls: a callable or a tqdm instance, as one callable."""

from __future__ import annotations

from typing import Any, Callable, Optional

# What progress= takes: None, a callable (done, total), or a tqdm instance (anything with update()
# and a total attribute).
ProgressLike = Any


def reporter(progress: ProgressLike) -> Optional[Callable[[int, Optional[int]], None]]:
    """``progress`` as a callable (done, total), done counting up from 0; None for None."""
    if progress is None:
        return None
    if hasattr(progress, "update") and hasattr(progress, "total"):
        bar = progress
        shown = [0]

        def update(done: int, total: Optional[int]) -> None:
            if total is not None and bar.total != total:
                bar.total = total
                bar.refresh()
            if done > shown[0]:
                bar.update(done - shown[0])
                shown[0] = done

        return update
    if callable(progress):
        return progress
    raise TypeError(
        f"progress must be a callable (done, total) or a tqdm instance, not {type(progress).__name__}"
    )
