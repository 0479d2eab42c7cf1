"""nn: plaintext numpy networks trained with activations from the approx registry (issue 3)."""
