// Server-streaming gRPC call → cold Observable. One call per subscription; the
// call is cancelled on unsubscribe. Pure RxJS + grpc-js, no timers.

import { Observable } from 'rxjs';
import type { ClientReadableStream, Metadata, ServiceError } from '@grpc/grpc-js';

/** @internal Options of {@link fromServerStream}. */
export interface ServerStreamOptions {
  /**
   * Called once when the server has sent its response headers (grpc-js
   * `'metadata'`), i.e. the server's handler has started answering. Note that
   * grpc-go servers (containerd) send headers lazily, with the first message,
   * unless the handler sends them explicitly.
   */
  readonly onMetadata?: (metadata: Metadata) => void;
}

/**
 * Runs a server-streaming call as a cold Observable: `start` is called on
 * subscribe, each message is emitted, the grpc-js `ServiceError` is the error,
 * the end of the stream completes. Unsubscribing cancels the call (`call.cancel()`)
 * and keeps an `'error'` listener attached, so the CANCELLED that grpc-js emits
 * afterwards is swallowed instead of becoming an unhandled error.
 *
 * @internal
 */
export function fromServerStream<T>(start: () => ClientReadableStream<T>, options: ServerStreamOptions = {}): Observable<T> {
  return new Observable<T>((subscriber) => {
    const onMetadata = options.onMetadata;
    return attach(start(), {
      data: (value) => subscriber.next(value),
      metadata: onMetadata === undefined ? undefined : (metadata) => onMetadata(metadata),
      error: (error) => subscriber.error(error),
      end: () => subscriber.complete(),
    });
  });
}

interface StreamHandlers<T> {
  readonly data: (value: T) => void;
  readonly metadata: ((metadata: Metadata) => void) | undefined;
  readonly error: (error: ServiceError) => void;
  readonly end: () => void;
}

/** Wires a started call to handlers; returns the teardown that cancels it. */
function attach<T>(call: ClientReadableStream<T>, handlers: StreamHandlers<T>): () => void {
  let done = false;
  const onData = (value: T): void => {
    if (!done) handlers.data(value);
  };
  const onMetadata = (metadata: Metadata): void => {
    if (!done) handlers.metadata?.(metadata);
  };
  // Stays attached for the life of the call: after cancel() grpc-js still emits
  // 'error' (CANCELLED), which must not become an unhandled 'error' event.
  const onError = (error: ServiceError): void => {
    if (done) return;
    done = true;
    handlers.error(error);
  };
  const onEnd = (): void => {
    if (done) return;
    done = true;
    handlers.end();
  };
  call.on('error', onError);
  call.on('metadata', onMetadata);
  call.on('data', onData);
  call.on('end', onEnd);
  return () => {
    const wasDone = done;
    done = true;
    call.removeListener('data', onData);
    call.removeListener('metadata', onMetadata);
    call.removeListener('end', onEnd);
    if (!wasDone) call.cancel();
  };
}
