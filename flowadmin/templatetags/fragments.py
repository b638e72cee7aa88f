"""``{% derived "name" key ... %}...{% endderived %}``: a fragment rendered once per content, anywhere.

What the tag encloses is rendered only when neither the process nor the cache every process shares
(`flowadmin.derived`) holds it under ``name`` and the keys, which must name all the fragment shows
(a content hash, a digest of a document's text): the first view anywhere renders it, every other one
reads it. The values the fragment reads are read only when it is rendered: pass what costs (a printed
document, a whole-document diff) as something evaluated on use. With an empty key the fragment is
rendered every time. A large fragment goes into the answer only once the page around it is rendered
(`derived.SpliceMiddleware`): the page's templates join a placeholder, not a megabyte at each level.

    {% derived "flowspec-document" spec.document_digest %}{{ pretty_document|pre_text }}{% endderived %}
"""

from django import template

from flowadmin import derived

register = template.Library()


class DerivedNode(template.Node):
    def __init__(self, name, keys, nodelist):
        self.name, self.keys, self.nodelist = name, keys, nodelist

    def render(self, context) -> str:
        keys = tuple(key.resolve(context) for key in self.keys)
        if not all(keys):
            return self.nodelist.render(context)
        name = self.name.resolve(context)
        # Kept as rendered, marked safe already (marking a megabyte again would copy it).
        html = derived.named(f"fragment-{name}").get_or_make(keys, lambda: self.nodelist.render(context))
        return derived.spliced_later(getattr(context, "request", None), html)


@register.tag("derived")
def derived_tag(parser, token):
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a name and at least one key")
    nodelist = parser.parse(("endderived",))
    parser.delete_first_token()
    return DerivedNode(parser.compile_filter(bits[1]), [parser.compile_filter(bit) for bit in bits[2:]], nodelist)
