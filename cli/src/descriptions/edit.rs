//! Changes to a parsed pipeline, made on the elements a description names: an element put in
//! another's place, inserted after one, taken out, or a chain moved from one pipeline to another.
//! Never on the description's text, so that a changed `.gst` file fails loudly (no element of that
//! name) instead of silently keeping what a text replacement no longer found.

use gst::prelude::*;

/// A description with its passphrase hidden, for error messages.
pub fn redact_passphrase(description: &str) -> String {
    let mut redacted = String::with_capacity(description.len());
    let mut rest = description;
    while let Some(at) = rest.find("passphrase=") {
        let value = &rest[at + "passphrase=".len()..];
        redacted.push_str(&rest[..at]);
        redacted.push_str("passphrase=(hidden)");
        // The value ends at the first space the parser does not read as escaped.
        let mut end = value.len();
        let mut escaped = false;
        for (index, character) in value.char_indices() {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                ' ' => {
                    end = index;
                    break;
                }
                _ => {}
            }
        }
        rest = &value[end..];
    }
    redacted.push_str(rest);
    redacted
}

/// Parses an expanded description into a pipeline.
pub fn parse(text: &str) -> Result<gst::Pipeline, String> {
    gst::parse::launch(text)
        .map_err(|e| {
            format!(
                "cannot build the pipeline: {e}\n  {}",
                redact_passphrase(text)
            )
        })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_owned())
}

/// A part of a pipeline (a camera, a sink, an animation chain) as one element: the element itself
/// when the text names one, else a bin holding them, whose unlinked pads become its own `src` and
/// `sink` when it is linked in.
pub fn part(text: &str) -> Result<gst::Element, String> {
    // Not gst::parse::bin_from_description: GStreamer 1.22 reads the ")" it wraps the text in as
    // part of caps that end the text ("... ! video/x-raw,width=640"), which users' sources do.
    gst::parse::launch_full(text, None, gst::ParseFlags::PLACE_IN_BIN)
        .map_err(|e| format!("cannot build {text:?}: {e}"))
}

/// A user's source (`--camera`) as a [`part`]. gst-launch syntax puts caps only between two
/// elements, as a filter on their link, and a source given to feed what follows often ends with
/// them ("videotestsrc ! video/x-raw,width=640"): an identity, which passes every buffer as it
/// is, takes the place of what follows.
pub fn source_part(text: &str) -> Result<gst::Element, String> {
    part(&format!("{text} ! identity"))
}

/// The element named `name`, anywhere in `pipeline`.
pub fn named(pipeline: &gst::Pipeline, name: &str) -> Result<gst::Element, String> {
    pipeline
        .by_name(name)
        .ok_or_else(|| format!("the description has no element named {name}"))
}

/// Sets `property` on every element of `element` (itself, or a bin's children) that has it.
pub fn set_on_all(element: &gst::Element, property: &str, value: &str) {
    let mut elements = vec![element.clone()];
    if let Some(bin) = element.downcast_ref::<gst::Bin>() {
        elements.extend(bin.iterate_recurse().into_iter().flatten());
    }
    for element in elements.iter().filter(|e| e.has_property(property)) {
        element.set_property(property, value);
    }
}

/// The bin `element` is a child of.
fn parent_bin(element: &gst::Element) -> Result<gst::Bin, String> {
    element
        .parent()
        .and_downcast::<gst::Bin>()
        .ok_or_else(|| format!("{} is in no bin", element.name()))
}

/// The static pad `name` of `element`.
pub fn pad(element: &gst::Element, name: &str) -> Result<gst::Pad, String> {
    element
        .static_pad(name)
        .ok_or_else(|| format!("{} has no {name} pad", element.name()))
}

/// The `src` or `sink` pad of a part: its own, or for a bin from [`part`] a ghost of the pad of its
/// elements left unlinked (made only when needed: a source's bin may hold an element whose input
/// is linked later, behind a decodebin, and must not be ghosted).
fn part_pad(element: &gst::Element, direction: gst::PadDirection) -> Result<gst::Pad, String> {
    let name = match direction {
        gst::PadDirection::Src => "src",
        _ => "sink",
    };
    if let Some(pad) = element.static_pad(name) {
        return Ok(pad);
    }
    let bin = element
        .downcast_ref::<gst::Bin>()
        .ok_or_else(|| format!("{} has no {name} pad", element.name()))?;
    let target = bin
        .find_unlinked_pad(direction)
        .ok_or_else(|| format!("{} has no unlinked {name} pad", element.name()))?;
    let ghost = gst::GhostPad::builder_with_target(&target)
        .map_err(|e| e.to_string())?
        .name(name)
        .build();
    bin.add_pad(&ghost).map_err(|e| e.to_string())?;
    Ok(ghost.upcast())
}

fn link(upstream: &gst::Pad, downstream: &gst::Pad) -> Result<(), String> {
    upstream.link(downstream).map(|_| ()).map_err(|e| {
        format!(
            "cannot link {} to {}: {e}",
            upstream.path_string(),
            downstream.path_string()
        )
    })
}

/// Takes `element` out of its bin and lets it go.
fn discard(element: &gst::Element) -> Result<(), String> {
    parent_bin(element)?
        .remove(element)
        .map_err(|e| format!("cannot remove {}: {e}", element.name()))?;
    let _ = element.set_state(gst::State::Null);
    Ok(())
}

/// Puts `replacement` where the element named `name` is, linked as it was: what fed its `sink`
/// pad feeds the replacement's, and its `src` pad's peer is fed by the replacement's. The
/// replaced element is dropped.
pub fn replace(
    pipeline: &gst::Pipeline,
    name: &str,
    replacement: &gst::Element,
) -> Result<(), String> {
    let old = named(pipeline, name)?;
    let bin = parent_bin(&old)?;
    let upstream = old.static_pad("sink").and_then(|pad| pad.peer());
    let downstream = old.static_pad("src").and_then(|pad| pad.peer());
    discard(&old)?;
    bin.add(replacement)
        .map_err(|e| format!("cannot add {}: {e}", replacement.name()))?;
    if let Some(upstream) = upstream {
        link(&upstream, &part_pad(replacement, gst::PadDirection::Sink)?)?;
    }
    if let Some(downstream) = downstream {
        link(&part_pad(replacement, gst::PadDirection::Src)?, &downstream)?;
    }
    Ok(())
}

/// Puts `inserted` right after `element`, between it and what it fed, in `element`'s own bin.
pub fn insert_after(element: &gst::Element, inserted: &gst::Element) -> Result<(), String> {
    let out = part_pad(element, gst::PadDirection::Src)?;
    let downstream = out.peer();
    if let Some(downstream) = &downstream {
        out.unlink(downstream)
            .map_err(|e| format!("cannot unlink {}: {e}", element.name()))?;
    }
    parent_bin(element)?
        .add(inserted)
        .map_err(|e| format!("cannot add {}: {e}", inserted.name()))?;
    link(&out, &part_pad(inserted, gst::PadDirection::Sink)?)?;
    if let Some(downstream) = downstream {
        link(&part_pad(inserted, gst::PadDirection::Src)?, &downstream)?;
    }
    Ok(())
}

/// Adds `part` to `pipeline`, feeding a new input of the element named `name` (a concat's, a
/// muxer's).
pub fn feed(pipeline: &gst::Pipeline, part: &gst::Element, name: &str) -> Result<(), String> {
    let into = named(pipeline, name)?;
    pipeline
        .add(part)
        .map_err(|e| format!("cannot add {}: {e}", part.name()))?;
    let out = part_pad(part, gst::PadDirection::Src)?;
    let input = into
        .compatible_pad(&out, None)
        .ok_or_else(|| format!("{name} takes no input from {}", part.name()))?;
    link(&out, &input)
}

/// Takes the element named `name` out, linking what fed it to what it fed.
pub fn bypass(pipeline: &gst::Pipeline, name: &str) -> Result<(), String> {
    let old = named(pipeline, name)?;
    let upstream = pad(&old, "sink")?.peer();
    let downstream = pad(&old, "src")?.peer();
    discard(&old)?;
    if let (Some(upstream), Some(downstream)) = (upstream, downstream) {
        link(&upstream, &downstream)?;
    }
    Ok(())
}

/// The pads an element of a chain was linked by (its upstream's output, its own input), and
/// the element.
type ChainLink = (String, gst::Element, String);

/// The chain of elements fed by `element`, in order, to a sink: each one's `src` pad feeds the
/// next, with the pads they were linked by (request pads, such as a muxer's, keep their names).
/// An element with more than one output (a tee) is no chain: an error names it.
fn chain_after(element: &gst::Element) -> Result<Vec<ChainLink>, String> {
    let mut chain = Vec::new();
    let mut out = element.static_pad("src");
    while let Some(next) = out.as_ref().and_then(|pad| pad.peer()) {
        let Some(next_element) = next.parent_element() else {
            break;
        };
        let from = out
            .as_ref()
            .map(|pad| pad.name().to_string())
            .unwrap_or_default();
        chain.push((from, next_element.clone(), next.name().to_string()));
        let outputs = next_element.src_pads();
        if outputs.len() > 1 {
            return Err(format!(
                "{} has {} outputs: what follows {} is not one chain",
                next_element.name(),
                outputs.len(),
                element.name()
            ));
        }
        out = outputs.into_iter().next();
    }
    Ok(chain)
}

/// Removes every element downstream of the element named `name` (a chain to a sink).
pub fn remove_after(pipeline: &gst::Pipeline, name: &str) -> Result<(), String> {
    for (_, element, _) in chain_after(&named(pipeline, name)?)? {
        discard(&element)?;
    }
    Ok(())
}

/// Moves the chain downstream of the element named `after` in `from` to follow the element named
/// `onto` in `to`, linked as it was: an output written once (a virtual camera's, a stream's) and
/// fed by another source.
pub fn move_after(
    from: &gst::Pipeline,
    after: &str,
    to: &gst::Pipeline,
    onto: &str,
) -> Result<(), String> {
    let chain = chain_after(&named(from, after)?)?;
    for (_, element, _) in &chain {
        parent_bin(element)?
            .remove(element)
            .map_err(|e| format!("cannot move {}: {e}", element.name()))?;
        to.add(element)
            .map_err(|e| format!("cannot move {}: {e}", element.name()))?;
    }
    let mut upstream = named(to, onto)?;
    for (from_pad, element, to_pad) in chain {
        let out = match upstream.static_pad(&from_pad) {
            Some(pad) => pad,
            None => pad(&upstream, "src")?,
        };
        link(&out, &pad(&element, &to_pad)?)?;
        upstream = element;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(factory: &str, name: &str) -> gst::Element {
        gst::ElementFactory::make(factory)
            .name(name)
            .build()
            .unwrap()
    }

    #[test]
    fn what_is_inserted_joins_the_elements_own_bin() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let inner = gst::Bin::with_name("inner");
        let (source, sink) = (make("identity", "source"), make("fakesink", "sink"));
        inner.add_many([&source, &sink]).unwrap();
        source.link(&sink).unwrap();
        pipeline.add(&inner).unwrap();
        let inserted = make("queue", "inserted");
        insert_after(&source, &inserted).unwrap();
        assert_eq!(inserted.parent().unwrap().name(), "inner");
        let fed = pad(&inserted, "src").unwrap().peer().unwrap();
        assert_eq!(fed.parent_element().unwrap(), sink);
    }

    #[test]
    fn a_chain_that_forks_is_refused_by_name() {
        gst::init().unwrap();
        let pipeline = parse(
            "fakesrc name=start ! identity ! tee name=split ! queue ! fakesink \
             split. ! queue ! fakesink",
        )
        .unwrap();
        let error = remove_after(&pipeline, "start").unwrap_err();
        assert!(error.contains("split has 2 outputs"), "{error}");
    }
}
