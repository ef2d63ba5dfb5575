//! The runtime user: found in the base image's `/etc/passwd`, or added to it.
//!
//! The frontend reads the base image's account files through the gateway, so the user's uid and
//! gid are known when the plan is made: files are chowned by number, and a base image without
//! `useradd` (or without a shell) gets the user all the same.

use serde::Serialize;

/// The account the runtime image runs as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// New `/etc/passwd` and `/etc/group` contents when the base image lacks the user.
    pub add: Option<AccountFiles>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountFiles {
    pub passwd: String,
    pub group: String,
}

struct Entry<'a> {
    name: &'a str,
    id: u32,
    fields: Vec<&'a str>,
}

fn entries(text: &str) -> Vec<Entry<'_>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(':').collect();
            Some(Entry {
                name: fields.first()?,
                id: fields.get(2)?.parse().ok()?,
                fields,
            })
        })
        .collect()
}

fn with_line(text: Option<&str>, default: &str, line: &str) -> String {
    let mut out = text.unwrap_or(default).to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// `name` as the base image has it, or a new account with the first free uid from `uid` on
/// (and gid from `gid`, default the uid).
pub fn runtime_user(
    name: &str,
    (uid, gid): (u32, Option<u32>),
    passwd: Option<&str>,
    group: Option<&str>,
) -> RuntimeUser {
    let preferred_id = uid;
    let users = passwd.map(entries).unwrap_or_default();
    if let Some(user) = users.iter().find(|u| u.name == name) {
        let gid = user
            .fields
            .get(3)
            .and_then(|g| g.parse().ok())
            .unwrap_or(user.id);
        let home = user
            .fields
            .get(5)
            .filter(|h| !h.is_empty())
            .map(|h| h.to_string())
            .unwrap_or_else(|| "/".into());
        return RuntimeUser {
            name: name.into(),
            uid: user.id,
            gid,
            home,
            add: None,
        };
    }
    let groups = group.map(entries).unwrap_or_default();
    // The first id from `start` that `taken` lacks: one pass over the ids however many follow
    // each other (a base with 100 000 consecutive uids is not 10^10 comparisons).
    let free = |start: u32, taken: std::collections::BTreeSet<u32>| {
        let mut id = start;
        for &t in taken.range(start..) {
            if t != id {
                break;
            }
            id = id.saturating_add(1);
        }
        id
    };
    let uid = free(preferred_id, users.iter().map(|u| u.id).collect());
    // The user's own group by name, else a group the spec names by id (e.g. a shared `users`).
    let existing_group = groups
        .iter()
        .find(|g| g.name == name)
        .or_else(|| gid.and_then(|wanted| groups.iter().find(|g| g.id == wanted)))
        .map(|g| g.id);
    let preferred_gid = gid.unwrap_or(uid);
    let gid = existing_group.unwrap_or_else(|| {
        if groups.iter().any(|g| g.id == preferred_gid) {
            free(preferred_id, groups.iter().map(|g| g.id).collect())
        } else {
            preferred_gid
        }
    });
    let home = format!("/home/{name}");
    let passwd = with_line(
        passwd,
        "root:x:0:0:root:/root:/bin/sh\n",
        &format!("{name}:x:{uid}:{gid}::{home}:/usr/sbin/nologin"),
    );
    let group = match existing_group {
        Some(_) => group.unwrap_or_default().to_string(),
        None => with_line(group, "root:x:0:\n", &format!("{name}:x:{gid}:")),
    };
    RuntimeUser {
        name: name.into(),
        uid,
        gid,
        home,
        add: Some(AccountFiles { passwd, group }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";

    #[test]
    fn an_existing_user_keeps_its_ids_and_home() {
        let u = runtime_user("nobody", (10001, None), Some(PASSWD), Some(GROUP));
        assert_eq!(
            (u.uid, u.gid, u.home.as_str()),
            (65534, 65534, "/nonexistent")
        );
        assert!(u.add.is_none());
    }

    #[test]
    fn a_gid_the_base_has_is_joined_not_replaced() {
        let u = runtime_user("svc", (2000, Some(65534)), Some(PASSWD), Some(GROUP));
        assert_eq!((u.uid, u.gid), (2000, 65534));
        let add = u.add.expect("added");
        assert_eq!(add.group, GROUP, "no second group with that id");
        assert!(add
            .passwd
            .ends_with("svc:x:2000:65534::/home/svc:/usr/sbin/nologin\n"));
    }

    #[test]
    fn a_missing_user_is_appended_with_the_preferred_ids() {
        let u = runtime_user("app", (10001, None), Some(PASSWD), Some(GROUP));
        assert_eq!((u.uid, u.gid), (10001, 10001));
        let add = u.add.expect("added");
        assert_eq!(
            add.passwd,
            format!("{PASSWD}app:x:10001:10001::/home/app:/usr/sbin/nologin\n")
        );
        assert_eq!(add.group, format!("{GROUP}app:x:10001:\n"));
    }

    #[test]
    fn a_long_run_of_taken_ids_is_skipped_in_one_pass() {
        let passwd: String = (0..100_000u32)
            .map(|i| format!("u{i}:x:{}:1::/:/bin/sh\n", 10_001 + i))
            .collect();
        let group: String = (0..100_000u32)
            .map(|i| format!("g{i}:x:{}:\n", 10_001 + i))
            .collect();
        let u = runtime_user("app", (10001, None), Some(&passwd), Some(&group));
        assert_eq!((u.uid, u.gid), (110_001, 110_001));
        // The highest uid the spec takes, taken: the next one.
        let top = "max:x:2147483647:1::/:/bin/sh\n";
        let u = runtime_user("app", (2_147_483_647, None), Some(top), None);
        assert_eq!(u.uid, 2_147_483_648);
    }

    #[test]
    fn taken_ids_are_skipped() {
        let passwd = format!("{PASSWD}other:x:10001:10001::/:/bin/sh\n");
        let group = format!("{GROUP}other:x:10001:\n");
        let u = runtime_user("app", (10001, None), Some(&passwd), Some(&group));
        assert_eq!((u.uid, u.gid), (10002, 10002));
    }

    #[test]
    fn a_base_without_account_files_gets_root_and_the_user() {
        let u = runtime_user("app", (10001, None), None, None);
        let add = u.add.expect("added");
        assert_eq!(
            add.passwd,
            "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/home/app:/usr/sbin/nologin\n"
        );
        assert_eq!(add.group, "root:x:0:\napp:x:10001:\n");
    }
}

#[cfg(test)]
mod preferred_ids {
    use super::runtime_user;

    #[test]
    fn a_new_user_takes_the_spec_ids() {
        let u = runtime_user(
            "svc",
            (2000, Some(3000)),
            Some("root:x:0:0::/:/bin/sh\n"),
            None,
        );
        assert_eq!((u.uid, u.gid), (2000, 3000));
        assert!(u.add.expect("added").group.ends_with("svc:x:3000:\n"));
    }
}
