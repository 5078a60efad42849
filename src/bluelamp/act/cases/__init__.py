"""Cases: the law-enforcement suspension desk (requests, review, execution through a
registry adapter, complaints, statistics)."""
