"""The torch device a ``device`` parameter names, checked against this machine."""

from __future__ import annotations

__all__ = ["resolve_torch_device"]


def resolve_torch_device(device: str, torch) -> str:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as a torch device string.

    ``"auto"`` is CUDA when torch can use it, else the CPU; a CUDA device on a
    machine where torch cannot use one is a ValueError that says what to do.
    """
    cuda = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if cuda else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not cuda:
            raise ValueError(
                f"device={device!r} but torch {torch.__version__} cannot use CUDA on "
                "this machine (torch.cuda.is_available() is False); use device='auto' or "
                "'cpu', or install a CUDA build of torch"
            )
        return device
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
