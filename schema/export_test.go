package schema

// CheckNumbering is checkNumbering, for the tests.
var CheckNumbering = checkNumbering
