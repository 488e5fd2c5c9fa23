// A TypeDoc plugin (typedoc.json `plugin`) for the one check TypeDoc's own
// validation lacks: every export of a public entry point shows an example.
// TypeDoc's `notDocumented` already fails an export without a comment; this
// adds a warning for a documented export whose comment has no `@example` block
// (treatWarningsAsErrors turns it into a failed build). The suite compiles every
// `@example` (spec/package/examples.spec.ts), so what this requires is also true.

import { Application, ReflectionKind } from 'typedoc';

/** The kinds of top-level exports that must carry an example. */
const NEEDS_EXAMPLE = ReflectionKind.Class | ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Function | ReflectionKind.Variable;

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    // one entry point: the exports are the project's children; several: each is a module
    const modules = project.children?.some((c) => c.kindOf(ReflectionKind.Module)) ? project.children.filter((c) => c.kindOf(ReflectionKind.Module)) : [project];
    for (const module of modules) {
      for (const r of module.children ?? []) {
        if (!r.kindOf(NEEDS_EXAMPLE)) continue;
        const comment = r.comment ?? r.signatures?.find((s) => s.comment)?.comment;
        if (comment === undefined) continue; // notDocumented reports it
        if (comment.blockTags.some((t) => t.tag === '@example')) continue;
        const source = r.sources?.[0];
        const where = source ? `, defined in ${source.fileName}:${source.line}` : '';
        app.logger.warn(`${module === project ? '' : `${module.name}.`}${r.name} (${ReflectionKind.singularString(r.kind)})${where}, has no @example (a \`\`\`ts block importing from the package)`);
      }
    }
  });
}
