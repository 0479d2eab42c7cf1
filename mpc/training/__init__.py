"""Training on secret shares: layers with forward and back-propagation, MSE loss and SGD on shares.

Every operation of a training step is a secure gate: matrix products are
Beaver products (:mod:`mpc.beaver`), activations the registry polynomials
with their derivatives computed from the same powers, and the update
W <- W - lr (dL/dW + lambda W) local products with public constants.  The
layers are written as round programs (:mod:`mpc.training.rounds`) so that
independent products of several layers share rounds.
"""
