"""mpc: additive secret sharing and secure gates evaluating registry polynomials (docs/design.md)."""
