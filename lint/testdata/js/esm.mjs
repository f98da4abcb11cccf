import axios from 'axios';
import dayjs from 'dayjs'; // want: unavailable-module

export async function main(event) {
  try {
    const res = await axios.get('https://api.example.com/x');
    return { outputFields: { x: res.data.x, d: typeof dayjs } };
  } catch (e) {
    throw e;
  }
}
