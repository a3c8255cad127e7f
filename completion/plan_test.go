package completion

// PageSQL lets the benchmarks EXPLAIN a page's query.
var PageSQL = pageSQL
