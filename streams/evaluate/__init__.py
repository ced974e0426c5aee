"""Scoring.

runs against the simulator's ground truth, detectors and root-cause ranking on outside labelled
data, training episodes.
"""
