//! Pure MARC 21 / ISO 2709 engine. No rustler here: everything is testable, fuzzable and
//! benchmarkable on its own.
