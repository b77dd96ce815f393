"""Intake: mail and mboxes, subjects, patches and their diffs, the series, line maps, and the
commits of a git range as a series."""
