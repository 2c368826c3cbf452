"""Sample buckets shipped with cbserver (beer-sample), their loader and REST routes."""

from cbserver.samples.catalog import SampleNotFound, available_samples, get_sample
from cbserver.samples.installer import SampleAlreadyLoaded, install_sample, is_installed
from cbserver.samples.progress import progress_printer

__all__ = ["SampleAlreadyLoaded", "SampleNotFound", "available_samples", "get_sample",
           "install_sample", "is_installed", "progress_printer"]
