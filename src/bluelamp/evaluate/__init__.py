"""Evaluation of detectors on labelled traffic (`bluelamp evaluate --traffic DIR`)."""
