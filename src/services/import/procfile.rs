//! A Procfile (foreman, honcho, Heroku): `NAME: COMMAND` lines, each
//! command run with `/bin/sh -c` as they run it; blank lines and `#`
//! comments skipped. A Procfile has no order, no readiness and no restart
//! policy: each line becomes a service that is essential (its exit stops
//! the container, as foreman stops the others when one exits).

use crate::base::prelude::*;

use super::{Output, literal};

pub fn translate(text: &str, out: &mut Output) -> Result<(), String> {
    let mut names: Vec<&str> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parsed = trimmed.split_once(':').and_then(|(name, command)| {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            let command = command.trim();
            (valid && !command.is_empty()).then_some((name, command))
        });
        let Some((name, command)) = parsed else {
            out.comment(&format!(
                "line {}: not translated: not a NAME: COMMAND line: {trimmed}",
                index + 1
            ));
            continue;
        };
        if names.contains(&name) {
            out.comment(&format!(
                "line {}: not translated: {name} is declared above: {trimmed}",
                index + 1
            ));
            continue;
        }
        names.push(name);
        out.service(name);
        out.strings("command", &["/bin/sh", "-c", &literal(command)]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::config;
    use crate::services::container::fake::Fake;

    #[test]
    fn each_line_is_a_service_run_by_the_shell() {
        let mut out = Output::default();
        translate(
            "# web and worker\nweb: bundle exec puma -p ${PORT:-5000}\n\n\
             worker:   sh -c 'echo $HOME'\nbad line\nweb: again\n",
            &mut out,
        )
        .unwrap();
        let services = config::parse(&out.text, &Fake::new()).unwrap();
        let commands: Vec<(&str, &[String])> = services
            .services
            .iter()
            .map(|s| (s.name.as_str(), &s.command[..]))
            .collect();
        assert_eq!(
            commands,
            [
                (
                    "web",
                    &[
                        "/bin/sh".into(),
                        "-c".into(),
                        "bundle exec puma -p ${PORT:-5000}".into()
                    ][..]
                ),
                (
                    "worker",
                    &["/bin/sh".into(), "-c".into(), "sh -c 'echo $HOME'".into()][..]
                ),
            ]
        );
        assert!(
            out.text
                .contains("# line 5: not translated: not a NAME: COMMAND line")
        );
        assert!(
            out.text
                .contains("# line 6: not translated: web is declared above")
        );
    }
}
