"""Test helpers shipped with repbot: a pytest plugin, fakes and platform simulators."""
