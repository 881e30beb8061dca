/**
 * Training a starter model on a protocol's training split (validation split for early stopping),
 * recording the split's fingerprint so that evaluation can prove the model never saw the test rows.
 */
import { trainModel, type TrainOptions, type TrainResult } from '../train/trainModel.js';
import { loadProtocolData, type ProtocolData } from './protocolData.js';
import { splitByProtocol, type ProtocolOptions } from './protocols/splitProtocol.js';
import type { ProtocolName, ProtocolSplit } from './protocols/types.js';

/** Trainer defaults that fit each protocol: a random hold-out asks for the user as a bag of items. */
export function protocolTrainDefaults(protocol: ProtocolName): Partial<TrainOptions> {
  return protocol === 'random' ? { historyMode: 'others' } : { historyMode: 'before' };
}

export async function trainOnProtocol(
  dataDir: string,
  outDir: string,
  protocol: ProtocolName,
  popts: ProtocolOptions,
  topts: TrainOptions,
): Promise<{ result: TrainResult; split: ProtocolSplit }> {
  const data = await loadProtocolData(dataDir);
  const split = splitByProtocol(protocol, data.interactions, popts);
  return { result: await trainOnSplit(data, split, outDir, topts), split };
}

/** Trains on an already split log (the evaluator splits once and trains and scores on the same split). */
export function trainOnSplit(data: ProtocolData, split: ProtocolSplit, outDir: string, topts: TrainOptions): Promise<TrainResult> {
  const protocol = split.protocol;
  return trainModel(
    { items: data.items, users: data.users, interactions: split.train, ...(split.validation.length ? { validation: split.validation } : {}) },
    outDir,
    { ...protocolTrainDefaults(protocol), ...stripUndefined(topts), protocol: { name: protocol, seed: split.seed, trainFingerprint: split.trainFingerprint } },
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
