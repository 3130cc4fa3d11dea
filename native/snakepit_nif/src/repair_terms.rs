//! The one place repairs ([`snakepit_core::recover::Repair`]) become terms:
//! `%Snakepit.Marc.Repair{kind, tag, byte_offset, detail}`, `kind` an atom spelled as
//! `RepairKind::name`. `repair_kinds/0` lists them in `RepairKind::ALL`'s order, for the
//! test that keeps `Snakepit.Marc.Repair.kinds/0` equal to it.

use crate::atoms;
use crate::terms::binary_term;
use rustler::{Atom, Encoder, Env, Term};
use snakepit_core::recover::{Repair, RepairKind};

fn kind_atom(env: Env<'_>, kind: RepairKind) -> Atom {
    Atom::from_str(env, kind.name()).expect("repair kind names are valid atoms")
}

/// `[%Snakepit.Marc.Repair{}]` for `repairs`, in order.
pub(crate) fn repairs_term<'a>(env: Env<'a>, repairs: &[Repair]) -> Term<'a> {
    let keys = [
        atoms::__struct__().encode(env),
        atoms::kind().encode(env),
        atoms::tag().encode(env),
        atoms::byte_offset().encode(env),
        atoms::detail().encode(env),
    ];
    let terms: Vec<Term<'a>> = repairs
        .iter()
        .map(|r| {
            let values = [
                atoms::repair_module().encode(env),
                kind_atom(env, r.kind).encode(env),
                r.tag
                    .map_or(atoms::nil().encode(env), |t| binary_term(env, &t)),
                r.byte_offset.encode(env),
                r.detail.encode(env),
            ];
            Term::map_from_term_arrays(env, &keys, &values).expect("the keys are unique")
        })
        .collect();
    terms.encode(env)
}

#[rustler::nif]
fn repair_kinds(env: Env<'_>) -> Vec<Atom> {
    let _watch = crate::scheduler_watch::watch("repair_kinds");
    RepairKind::ALL.iter().map(|k| kind_atom(env, *k)).collect()
}
