"""The weekly threat report for hospital leadership, Vietnamese first, PDF and HTML (issue 16)."""
