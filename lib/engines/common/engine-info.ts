import type { EngineInfo, EngineType } from '../../core/engine.js';

/** The fields of an {@link EngineInfo}; `pid` and `product` are left out when undefined. @internal */
export interface EngineInfoFields {
  readonly id: string;
  readonly type: EngineType;
  readonly version: string;
  readonly api: string;
  readonly pid?: number | undefined;
  readonly product?: string | undefined;
}

/** One frozen {@link EngineInfo}, assembled the same way for every engine. @internal */
export function engineInfo(fields: EngineInfoFields): EngineInfo {
  return Object.freeze({
    id: fields.id,
    type: fields.type,
    version: fields.version,
    api: fields.api,
    ...(fields.pid === undefined ? {} : { pid: fields.pid }),
    ...(fields.product === undefined ? {} : { product: fields.product }),
  });
}
