"""`medloom eval`: what a trained model knows and how well it answers.

Exams (accuracy zero- and few-shot, the answer parsed from generated text and, as a second
figure, chosen by log-likelihood), open questions and consultations scored by the reward
model (win/tie/loss against a second model), diagnosis from medical records by normalised
string match, perplexity on held-out pretraining text, and a contamination check of every
evaluation item against the training outputs. Results: ``eval.json`` and ``eval.html``.
"""
