"""nn: plaintext numpy networks trained with activations from the approx registry (docs/design.md)."""
