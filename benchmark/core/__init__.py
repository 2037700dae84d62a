"""The kernel: what every other part of the suite builds on, importing nothing else of ours.

``errors`` (UserError and friends), ``registry`` (one Registry type), ``roles`` (original and
gold), ``seeding`` (one seed derivation), ``hashing`` (stable ids), ``config`` (typed,
bounded hyperparameter dataclasses), ``named_files`` (TOML by name or path), ``tensors``
(labelled uint8 images, normalisation, augmentation, subsets), ``engine`` (device,
precision, timer), ``training`` (the fast training loop), ``artifacts`` (one checksummed,
atomic file store for checkpoints and decoded data) and ``command_clock`` (when the command
started, for the estimate's whole-command figure).
"""
