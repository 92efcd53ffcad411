"""kehu (客户): a customer-relationship system that acts on what a business knows."""

__version__ = "0.1.0"
