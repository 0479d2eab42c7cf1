"""mpc: additive secret sharing and secure gates evaluating registry polynomials (issue 5)."""
