"""runlife.spec: the executable specification of workflow-run lifecycles.

Pure Python, standard library only. The store actions (:mod:`runlife.spec.store`) are the
oracle every run store is checked against; the machines (:mod:`runlife.spec.machines`) compose
them with concurrent actors and are explored exhaustively by :mod:`runlife.spec.checker`.
"""
