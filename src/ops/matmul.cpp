// placeholder: filled in by the op's implementer
