package orders

// UseFullFilters makes s put every condition in its write filters, as on MongoDB, so that the
// tests check those filters against FerretDB too.
func UseFullFilters(s *Store) { s.narrow = false }
