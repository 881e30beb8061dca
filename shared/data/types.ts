/**
 * The logical tables every reader produces, whatever the file format.
 *
 * items:        item_id (string, required), category (string), tags ('|'-separated string),
 *               num_* (numeric features, any number of columns)
 * users:        user_id (string, required), cat_* (categorical features), num_* (numeric)
 * interactions: user_id, item_id (strings, required), timestamp (integer seconds, required),
 *               rating (number, optional, defaults to 1)
 * holdout:      same columns as interactions: the future that evaluation tries to predict
 */
export interface ItemRow {
  itemId: string;
  category: string | null;
  tags: string[];
  numeric: Record<string, number>;
}

export interface UserRow {
  userId: string;
  categorical: Record<string, string>;
  numeric: Record<string, number>;
}

export interface InteractionRow {
  userId: string;
  itemId: string;
  timestamp: number;
  rating: number;
}

export type TableName = 'items' | 'users' | 'interactions' | 'holdout';
