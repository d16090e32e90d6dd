def fit_grid(*a, **k): raise NotImplementedError
