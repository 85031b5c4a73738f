"""One module per screen or modal: thin views that call domain services in workers."""

__all__: list[str] = []
