package analytics

// Schema exposes the kind → data type table to the tests of the docs.
var Schema = schema
