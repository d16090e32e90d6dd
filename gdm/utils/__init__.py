"""What every gdm estimator shares (as `sklearn.utils`): input validation and float64
(`validation`), size buckets and padding (`buckets`), compiler options (`compiler`) and
chunks of work on CPU threads (`threads`)."""
