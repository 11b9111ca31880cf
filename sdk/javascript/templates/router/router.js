// A router (world `router`, wit/router.wit): each message goes to one anycast queue of its
// address, taking turns, and, when the address has a log, to the partition Kafka's Java producer
// would choose for its key (keyless messages take turns there too). The host calls `route` once
// per send, with a batch.
//
// Turns are counted from `address.sequence` (messages routed on the address before this batch),
// not from a counter of our own, so a restart or a hot swap continues the rotation.
//
// Build: npm run build   (writes router.wasm; see docs/sdk-javascript.md)

import { keyPartition } from "sluice-sdk";

export const routing = {
  info() {
    return { name: "template-router-js", version: "0.1.0" };
  },

  route(address, messages) {
    const first = address.sequence; // bigint: a u64
    return messages.map((message, i) => {
      const turn = first + BigInt(i);
      return {
        partition: address.partitions > 0 ? partitionOf(message.key, turn, address.partitions)
          : undefined,
        queues: address.queues.length > 0
          ? [{ queue: Number(turn % BigInt(address.queues.length)), consumer: undefined }]
          : [],
      };
    });
  },
};

function partitionOf(key, turn, partitions) {
  return key === undefined ? Number(turn % BigInt(partitions)) : keyPartition(key, partitions);
}
