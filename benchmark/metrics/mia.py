"""Membership inference attacks on the forget-class training samples.

Two variants, differing only in the one feature each sample is described by:

- **entropy** (``mia_entropy_*``): Shannon entropy (nats) of the softmax output. This is the
  attack of the unlearning literature's reference code (Chundawat et al., "Can Bad Teaching
  Induce Forgetting?", AAAI 2023; reused by SSD, Foster et al., AAAI 2024): training samples
  tend to get confident, low-entropy outputs.
- **loss** (``mia_loss_*``): per-sample cross-entropy loss with the true label (the classic
  loss-threshold attack, Yeom et al. 2018); it also uses the label, so a model that is
  confidently *wrong* on the forget samples does not look like a member.

Procedure (same for both, one shared subsample and split per call):

1. members = retain-train samples, non-members = test samples. The caller chooses the test
   samples; we recommend the retained-class test samples, so the non-members differ from the
   members only in membership, not in class (the reference code uses its whole test split).
2. Balance: draw ``n = min(#members, #non-members, max_samples)`` of each group at random
   (fixed ``seed``). The reference code instead reweights classes
   (``class_weight="balanced"``); subsampling has the same aim and bounds the cost.
3. Split the 2n samples 80/20, stratified. Fit a scikit-learn logistic regression (after
   standardising the feature, so the default L2 penalty does not depend on its scale) on the
   80 %; ``*_attack_acc`` is its accuracy on the held-out 20 % (0.5 = chance: the model's
   outputs do not reveal membership at all).
4. Apply the same fitted attack to every forget-train sample; ``*_member_rate`` is the
   fraction predicted "member". Lower means less evidence that the forget samples were
   trained on; a retrained model gives the reference value to compare against.

Keys: ``mia_entropy_member_rate``, ``mia_entropy_attack_acc``, ``mia_loss_member_rate``,
``mia_loss_attack_acc``, ``mia_samples_per_group`` (n). With fewer than 5 samples in a
group, the rates and accuracies are NaN.
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics._tensors import (
    ArrayLike,
    as_labels,
    as_logits,
    softmax_and_log,
    xlogy_rows,
)

_MIN_PER_GROUP = 5  # below this the 80/20 stratified split has no held-out sample per class


def _features(logits: ArrayLike, labels: ArrayLike) -> dict[str, np.ndarray]:
    """Per-sample entropy (nats) and cross-entropy loss, as float64 numpy vectors."""
    scores = as_logits(logits)
    targets = as_labels(labels, scores.device, scores.shape[0])
    p, log_p = softmax_and_log(scores)
    entropy = -xlogy_rows(p, log_p)
    loss = -log_p.gather(1, targets.view(-1, 1)).squeeze(1)
    # A -inf logit on the true class gives an infinite loss; cap it so sklearn can fit.
    loss = loss.clamp(max=1e4)
    return {"entropy": entropy.cpu().numpy(), "loss": loss.cpu().numpy()}


def membership_inference(
    retain_train_logits: ArrayLike,
    retain_train_labels: ArrayLike,
    test_logits: ArrayLike,
    test_labels: ArrayLike,
    forget_train_logits: ArrayLike,
    forget_train_labels: ArrayLike,
    seed: int = 0,
    max_samples: int = 5000,
) -> dict[str, float | int]:
    """Entropy- and loss-based membership inference on the forget-train samples (see above)."""
    members = _features(retain_train_logits, retain_train_labels)
    non_members = _features(test_logits, test_labels)
    targets = _features(forget_train_logits, forget_train_labels)
    n_members, n_non = len(members["entropy"]), len(non_members["entropy"])
    n = min(n_members, n_non, max_samples)
    result: dict[str, float | int] = {"mia_samples_per_group": int(n)}
    if n < _MIN_PER_GROUP or len(targets["entropy"]) == 0:
        for name in ("entropy", "loss"):
            result[f"mia_{name}_member_rate"] = float("nan")
            result[f"mia_{name}_attack_acc"] = float("nan")
        return result

    # Imported here: scikit-learn (with scipy) took 2.2 s to import on 2 cores, which every command
    # (`list` included) paid when it sat at the top of this module.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    pick_members = rng.choice(n_members, size=n, replace=False)
    pick_non = rng.choice(n_non, size=n, replace=False)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    # One split of sample positions shared by both variants, so they see the same data.
    train_idx, held_idx = train_test_split(
        np.arange(2 * n), test_size=0.2, stratify=y, random_state=seed
    )
    for name in ("entropy", "loss"):
        x = np.concatenate([members[name][pick_members], non_members[name][pick_non]])
        x = x.reshape(-1, 1)
        attack = make_pipeline(StandardScaler(), LogisticRegression())
        attack.fit(x[train_idx], y[train_idx])
        result[f"mia_{name}_attack_acc"] = float(attack.score(x[held_idx], y[held_idx]))
        predicted = attack.predict(targets[name].reshape(-1, 1))
        result[f"mia_{name}_member_rate"] = float(np.mean(predicted == 1))
    return result
