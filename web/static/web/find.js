// The map page (issue 9, part 1): being built.
