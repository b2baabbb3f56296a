"""Imported at start-up by every Python process a documented block runs (the docs tests put this folder on
PYTHONPATH): once ``frechet.weights`` is imported, the weights and reference files frechet would download are
stood in for by deterministic random files in their published layouts (``docs_standins``)."""

import importlib.abc
import importlib.machinery
import sys


class _StandInWeights(importlib.abc.MetaPathFinder):
    """Finds ``frechet.weights`` as Python would, and patches the module right after it has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "frechet.weights":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            import docs_standins

            docs_standins.patch(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _StandInWeights())
