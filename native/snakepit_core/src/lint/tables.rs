//! The MARC 21 tables in the form the checks read ([`super::schema::Schema`]).
//! PLACEHOLDER until the generated tables (snakepit_core::marc21) are merged.

pub(crate) fn build() -> super::schema::Schema {
    super::schema::Schema::default()
}
