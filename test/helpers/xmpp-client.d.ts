/** The part of @xmpp/client 0.14 (shipped without types) that the test probes use. */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

  export interface Element {
    name: string;
    attrs: Record<string, string>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    toString(): string;
  }

  export function xml(name: string, attrs?: Record<string, string> | null, ...children: Array<Element | string>): Element;

  export interface Client extends EventEmitter {
    start(): Promise<unknown>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
  }

  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
  }

  export function client(options: ClientOptions): Client;
}
