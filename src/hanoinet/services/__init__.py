"""Services: what a command does, over the pure core and the store, in one transaction.

The CLI, the web desk and the inbox call these and nothing below them. (DESIGN
puts "the cases service" between the shells and the core; it lives here,
because ``cases`` itself stays pure and ``store`` is persistence only.)
"""
